package network_test

import (
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/network"
)

// Validate names every field it rejects, all at once.
func TestValidateNamesEveryBadField(t *testing.T) {
	good := network.Props{CIDR: "10.0.0.0/16", Zones: []string{"eu-west-1a", "eu-west-1b"}, NATGateways: 1,
		Endpoints: []network.Endpoint{network.EndpointS3, network.EndpointECR}}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate(%+v) = %v; want nil", good, err)
	}
	err := network.Props{CIDR: "10.0.0.0/24", Zones: []string{"eu-west-1a"}, NATGateways: 2,
		Endpoints: []network.Endpoint{"s3", "dynamodb", "s3"}}.Validate()
	if err == nil {
		t.Fatal("Validate() = nil; want every problem")
	}
	for _, want := range []string{"CIDR", "Zones", "NATGateways", `unknown endpoint "dynamodb"`, `"s3" is listed twice`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v\nwant it to name %s", err, want)
		}
	}
}
