package alerts

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v2"

	"github.com/sigil/sigil-integrity-exporter/internal/testutil"
)

// dottedFlag matches the exporter's flags (they all have a dot), not
// kubectl's or docker's.
var dottedFlag = regexp.MustCompile(`--([a-z]+\.[a-z0-9.-]+)`)

// helpFlag matches a flag in kingpin's help, boolean ones (--[no-]x.y)
// included.
var helpFlag = regexp.MustCompile(`--(?:\[no-\])?([a-z]+\.[a-z0-9.-]+)`)

// exporterFlags builds the exporter and returns the flags its help lists.
func exporterFlags(t *testing.T) map[string]bool {
	t.Helper()
	bin := testutil.Binary(t)
	flags := map[string]bool{}
	for _, cmd := range []string{"serve", "check"} {
		out, err := exec.Command(bin, cmd, "--help").CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s --help: %v\n%s", bin, cmd, err, out)
		}
		for _, m := range helpFlag.FindAllStringSubmatch(string(out), -1) {
			flags[m[1]] = true
		}
	}
	if !flags["store.leveldb.path"] || !flags["push.gateway-url"] {
		t.Fatalf("the exporter's help lacks known flags; parsed %v", flags)
	}
	return flags
}

// TestShippedFilesUseRealFlags checks every exporter flag written in the
// deployment files and the runbook against the binary's own help.
func TestShippedFilesUseRealFlags(t *testing.T) {
	known := exporterFlags(t)
	files := []string{"../Dockerfile", "../docs/runbook.md", "../deploy/cron/sigil-integrity-check.cron", "../deploy/systemd/sigil-integrity-exporter.service"}
	k8s, err := filepath.Glob("../deploy/kubernetes/*.yaml")
	if err != nil || len(k8s) == 0 {
		t.Fatalf("no Kubernetes manifests: %v", err)
	}
	files = append(files, k8s...)
	seen := 0
	for _, f := range files {
		b := testutil.ReadFile(t, f)
		for _, m := range dottedFlag.FindAllStringSubmatch(string(b), -1) {
			seen++
			if !known[m[1]] {
				t.Errorf("%s uses --%s, which the exporter does not have", f, m[1])
			}
		}
	}
	if seen < 20 {
		t.Fatalf("found only %d flags in the shipped files; the extraction is broken", seen)
	}
}

type podSpec struct {
	SecurityContext struct {
		RunAsNonRoot bool `yaml:"runAsNonRoot"`
		RunAsUser    int  `yaml:"runAsUser"`
	} `yaml:"securityContext"`
	Containers []struct {
		Name  string   `yaml:"name"`
		Args  []string `yaml:"args"`
		Ports []struct {
			ContainerPort int `yaml:"containerPort"`
		} `yaml:"ports"`
		LivenessProbe  probe `yaml:"livenessProbe"`
		ReadinessProbe probe `yaml:"readinessProbe"`
		Resources      struct {
			Requests map[string]string `yaml:"requests"`
			Limits   map[string]string `yaml:"limits"`
		} `yaml:"resources"`
		SecurityContext struct {
			ReadOnlyRootFilesystem   bool `yaml:"readOnlyRootFilesystem"`
			AllowPrivilegeEscalation bool `yaml:"allowPrivilegeEscalation"`
		} `yaml:"securityContext"`
		VolumeMounts []struct {
			MountPath string `yaml:"mountPath"`
			ReadOnly  bool   `yaml:"readOnly"`
		} `yaml:"volumeMounts"`
	} `yaml:"containers"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
	} `yaml:"httpGet"`
}

func readManifest(t *testing.T, name string, v any) {
	t.Helper()
	b := testutil.ReadFile(t, filepath.Join("../deploy/kubernetes", name))
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
}

// TestKubernetesManifests checks what the runbook and the alerts rely on:
// every kustomization resource exists, the exporter runs as non-root on a
// read-only root with its state on a volume and the store mounted
// read-only, the probes hit the health endpoints, and the CronJob pushes.
func TestKubernetesManifests(t *testing.T) {
	var kust struct {
		Resources []string `yaml:"resources"`
	}
	readManifest(t, "kustomization.yaml", &kust)
	for _, r := range append(kust.Resources, "cronjob.yaml") {
		if _, err := os.Stat(filepath.Join("../deploy/kubernetes", r)); err != nil {
			t.Errorf("kustomization resource: %v", err)
		}
	}
	var dep struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Replicas int `yaml:"replicas"`
			Template struct {
				Spec podSpec `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	readManifest(t, "deployment.yaml", &dep)
	if dep.Kind != "Deployment" || dep.Spec.Replicas != 1 {
		t.Errorf("deployment.yaml: kind %q replicas %d, want Deployment with 1", dep.Kind, dep.Spec.Replicas)
	}
	var cron struct {
		Kind string `yaml:"kind"`
		Spec struct {
			JobTemplate struct {
				Spec struct {
					Template struct {
						Spec podSpec `yaml:"spec"`
					} `yaml:"template"`
				} `yaml:"spec"`
			} `yaml:"jobTemplate"`
		} `yaml:"spec"`
	}
	readManifest(t, "cronjob.yaml", &cron)
	if cron.Kind != "CronJob" {
		t.Errorf("cronjob.yaml: kind %q", cron.Kind)
	}
	for name, pod := range map[string]podSpec{"deployment.yaml": dep.Spec.Template.Spec, "cronjob.yaml": cron.Spec.JobTemplate.Spec.Template.Spec} {
		if !pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.RunAsUser == 0 {
			t.Errorf("%s: pod does not run as non-root", name)
		}
		if len(pod.Containers) != 1 {
			t.Fatalf("%s: %d containers, want 1", name, len(pod.Containers))
		}
		c := pod.Containers[0]
		if !c.SecurityContext.ReadOnlyRootFilesystem || c.SecurityContext.AllowPrivilegeEscalation {
			t.Errorf("%s: want readOnlyRootFilesystem and no privilege escalation", name)
		}
		if c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" {
			t.Errorf("%s: memory request and limit are required", name)
		}
		mounts := map[string]bool{}
		for _, m := range c.VolumeMounts {
			mounts[m.MountPath] = m.ReadOnly
		}
		if ro, ok := mounts["/var/lib/sigil-integrity"]; !ok || ro {
			t.Errorf("%s: the state volume must be mounted writable at /var/lib/sigil-integrity", name)
		}
		if ro, ok := mounts["/data"]; !ok || !ro {
			t.Errorf("%s: the store must be mounted read-only at /data", name)
		}
		args := strings.Join(c.Args, " ")
		for _, want := range []string{"--state.path=/var/lib/sigil-integrity/", "--report.dir=/var/lib/sigil-integrity/", "--store.leveldb.path=/data/"} {
			if !strings.Contains(args, want) {
				t.Errorf("%s: args lack %s: %s", name, want, args)
			}
		}
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if c.Args[0] != "serve" || len(c.Ports) != 1 || c.Ports[0].ContainerPort != 9961 {
		t.Errorf("deployment.yaml: want serve on port 9961, got args %v ports %v", c.Args, c.Ports)
	}
	if c.LivenessProbe.HTTPGet.Path != "/-/healthy" || c.ReadinessProbe.HTTPGet.Path != "/-/ready" {
		t.Errorf("deployment.yaml: probes %q %q, want /-/healthy and /-/ready", c.LivenessProbe.HTTPGet.Path, c.ReadinessProbe.HTTPGet.Path)
	}
	cc := cron.Spec.JobTemplate.Spec.Template.Spec.Containers[0]
	if cc.Args[0] != "check" || !slices.ContainsFunc(cc.Args, func(a string) bool { return strings.HasPrefix(a, "--push.gateway-url=") }) {
		t.Errorf("cronjob.yaml: want check with --push.gateway-url, got %v", cc.Args)
	}
}

// imageRef matches an image: line of a manifest or a Dockerfile FROM.
var imageRef = regexp.MustCompile(`(?m)^\s*(?:-\s*)?image:\s*([^\s#]+)|^FROM\s+(\S+)`)

// TestImagesPinned: every image the deploy files and the Dockerfile use
// names an explicit tag that is not "latest", and kustomize sets the
// exporter's to the same pinned tag.
func TestImagesPinned(t *testing.T) {
	files, err := filepath.Glob("../deploy/kubernetes/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	tags := map[string]string{}
	for _, f := range append(files, "../Dockerfile") {
		for _, m := range imageRef.FindAllStringSubmatch(string(mustRead(t, f)), -1) {
			ref := m[1] + m[2]
			name, tag, ok := strings.Cut(ref[strings.LastIndex(ref, "/")+1:], ":")
			if !ok || tag == "" || strings.HasPrefix(tag, "latest") {
				t.Errorf("%s: image %s has no pinned tag", f, ref)
				continue
			}
			tags[name] = tag
		}
	}
	if tags["sigil-integrity-exporter"] == "" {
		t.Fatalf("no sigil-integrity-exporter image found in the manifests (found %v)", tags)
	}
	var kust struct {
		Images []struct {
			Name   string `yaml:"name"`
			NewTag string `yaml:"newTag"`
		} `yaml:"images"`
	}
	readManifest(t, "kustomization.yaml", &kust)
	if len(kust.Images) != 1 {
		t.Fatalf("kustomization images: %+v, want the exporter's", kust.Images)
	}
	if got := kust.Images[0].NewTag; got != tags["sigil-integrity-exporter"] || got == "latest" {
		t.Errorf("kustomization newTag %q, want the manifests' pinned %q", got, tags["sigil-integrity-exporter"])
	}
}

// TestLicense: the Apache License 2.0, full text.
func TestLicense(t *testing.T) {
	b := string(mustRead(t, "../LICENSE"))
	for _, want := range []string{"Apache License", "Version 2.0, January 2004", "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION",
		"9. Accepting Warranty or Additional Liability.", "END OF TERMS AND CONDITIONS"} {
		if !strings.Contains(b, want) {
			t.Errorf("LICENSE lacks %q", want)
		}
	}
	if len(b) < 10000 {
		t.Errorf("LICENSE is %d bytes: not the full Apache-2.0 text", len(b))
	}
}
