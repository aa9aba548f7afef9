package imagecheck

import (
	"fmt"
	"regexp"
	"strings"
)

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct {
	line int
	cmd  string // upper case
	args string
}

// parse splits a Dockerfile into instructions: comments and blank lines dropped, lines ending in a backslash
// joined with the next.
func parse(src string) []instruction {
	var out []instruction
	var cur strings.Builder
	start := 0
	for i, raw := range strings.Split(src, "\n") {
		line := strings.TrimSpace(raw)
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(line, "#") {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		cont := strings.HasSuffix(line, "\\")
		cur.WriteString(strings.TrimSuffix(line, "\\"))
		cur.WriteString(" ")
		if cont {
			continue
		}
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		cmd, args, _ := strings.Cut(text, " ")
		out = append(out, instruction{line: start, cmd: strings.ToUpper(cmd), args: strings.TrimSpace(args)})
	}
	return out
}

var (
	argRef     = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)
	digestPin  = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)
	urlSource  = regexp.MustCompile(`(?i)^(https?|git)://|\.git$`)
	stageAlias = regexp.MustCompile(`(?i)\s+AS\s+([A-Za-z0-9_.-]+)$`)
	cmdPackage = regexp.MustCompile(`\./cmd/[A-Za-z0-9_.-]+`)
)

// LintDockerfile returns the rule violations of a Dockerfile, each with its line:
//   - every base image is pinned by digest (a tag moves; a digest does not), never "latest";
//   - the final stage runs as a non-root user (USER nonroot, or a non-zero UID);
//   - ADD never fetches a URL or a git repository (no checksum, no cache control: COPY committed files);
//   - the image's one binary is built (./cmd/<binary>) and no other command: every service runs from that binary,
//     so the image does not grow with the number of services.
func LintDockerfile(src, binary string) []string {
	ins := parse(src)
	args := map[string]string{}
	stages := map[string]bool{}
	var findings []string
	bad := func(in instruction, format string, a ...any) {
		findings = append(findings, fmt.Sprintf("line %d: %s %s", in.line, in.cmd, fmt.Sprintf(format, a...)))
	}
	lastUser, finalStage := "", -1
	sawFrom := false
	for i, in := range ins {
		switch in.cmd {
		case "ARG":
			name, val, ok := strings.Cut(in.args, "=")
			if ok && !sawFrom {
				args[strings.TrimSpace(name)] = strings.Trim(strings.TrimSpace(val), `"`)
			}
		case "FROM":
			sawFrom = true
			finalStage, lastUser = i, ""
			spec := in.args
			if m := stageAlias.FindStringSubmatch(spec); m != nil {
				stages[strings.ToLower(m[1])] = true
				spec = strings.TrimSpace(spec[:len(spec)-len(m[0])])
			}
			fields := strings.Fields(spec)
			var image string
			for _, f := range fields {
				if !strings.HasPrefix(f, "--") {
					image = f
				}
			}
			image = argRef.ReplaceAllStringFunc(image, func(ref string) string {
				return args[argRef.FindStringSubmatch(ref)[1]]
			})
			switch {
			case image == "":
				bad(in, "has no image (an ARG without a default?)")
			case stages[strings.ToLower(image)] || image == "scratch":
			case strings.Contains(image, ":latest"):
				bad(in, "%s uses the latest tag", image)
			case !digestPin.MatchString(image):
				bad(in, "%s is not pinned by digest (@sha256:...)", image)
			}
		case "USER":
			lastUser = in.args
		case "RUN":
			for _, pkg := range cmdPackage.FindAllString(in.args, -1) {
				if pkg != "./cmd/"+binary {
					bad(in, "builds %s besides the image's one binary ./cmd/%s: run it as `%s <command>` instead", pkg, binary, binary)
				}
			}
		case "ADD":
			for _, f := range strings.Fields(in.args) {
				if urlSource.MatchString(f) {
					bad(in, "fetches %s: commit the file and COPY it, with its checksum verified", f)
				}
			}
		}
	}
	if finalStage < 0 {
		return append(findings, "no FROM instruction")
	}
	user, _, _ := strings.Cut(lastUser, ":")
	if user == "" || user == "root" || user == "0" {
		findings = append(findings, fmt.Sprintf("line %d: final stage does not switch to a non-root USER", ins[finalStage].line))
	}
	if !strings.Contains(src, "./cmd/"+binary) {
		findings = append(findings, fmt.Sprintf("the image's binary %s is not built (./cmd/%s)", binary, binary))
	}
	return findings
}
