package main

import "testing"

func TestProductionFromEnvironmentFiles(t *testing.T) {
	for env, want := range map[string]bool{"dev": false, "staging": false, "prod": true} {
		got, err := production("../../infra/environments/" + env + ".yaml")
		if err != nil || got != want {
			t.Errorf("production(%s) = %v, %v; want %v", env, got, err, want)
		}
	}
	if _, err := production("../../infra/environments/nope.yaml"); err == nil {
		t.Error("production of a missing environment: no error")
	}
}
