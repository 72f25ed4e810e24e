package sweep

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The fields of batch/v1 Job that the manifest uses, spelled as in the
// Kubernetes API reference; decoding with KnownFields rejects any other.
type k8sJob struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name      string            `yaml:"name"`
		Namespace string            `yaml:"namespace"`
		Labels    map[string]string `yaml:"labels"`
	} `yaml:"metadata"`
	Spec struct {
		Completions    *int   `yaml:"completions"`
		Parallelism    *int   `yaml:"parallelism"`
		CompletionMode string `yaml:"completionMode"`
		BackoffLimit   int    `yaml:"backoffLimit"`
		Template       struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec struct {
				RestartPolicy                 string `yaml:"restartPolicy"`
				TerminationGracePeriodSeconds int    `yaml:"terminationGracePeriodSeconds"`
				Containers                    []struct {
					Name       string   `yaml:"name"`
					Image      string   `yaml:"image"`
					WorkingDir string   `yaml:"workingDir"`
					Command    []string `yaml:"command"`
					Env        []struct {
						Name      string `yaml:"name"`
						ValueFrom struct {
							FieldRef struct {
								FieldPath string `yaml:"fieldPath"`
							} `yaml:"fieldRef"`
						} `yaml:"valueFrom"`
					} `yaml:"env"`
					Resources struct {
						Requests map[string]string `yaml:"requests"`
						Limits   map[string]string `yaml:"limits"`
					} `yaml:"resources"`
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []struct {
					Name                  string `yaml:"name"`
					PersistentVolumeClaim struct {
						ClaimName string `yaml:"claimName"`
					} `yaml:"persistentVolumeClaim"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func parseJob(t *testing.T, path string) k8sJob {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var j k8sJob
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&j); err != nil {
		t.Fatalf("%s does not parse as a batch/v1 Job: %v\n%s", path, err, b)
	}
	if j.APIVersion != "batch/v1" || j.Kind != "Job" {
		t.Errorf("%s: %s %s, want batch/v1 Job", path, j.APIVersion, j.Kind)
	}
	if len(j.Metadata.Name) > 63 || k8sName(j.Metadata.Name) != j.Metadata.Name {
		t.Errorf("%s: name %q is not a DNS label", path, j.Metadata.Name)
	}
	ps := j.Spec.Template.Spec
	if len(ps.Containers) != 1 || len(ps.Volumes) != 1 {
		t.Fatalf("%s: %d containers, %d volumes, want 1 and 1", path, len(ps.Containers), len(ps.Volumes))
	}
	ct := ps.Containers[0]
	if ps.Volumes[0].PersistentVolumeClaim.ClaimName != "shared-runs" || len(ct.VolumeMounts) != 1 ||
		ct.VolumeMounts[0].Name != ps.Volumes[0].Name || ct.VolumeMounts[0].MountPath != "/lab" || ct.WorkingDir != "/lab" {
		t.Errorf("%s: the claim is not mounted at the working directory: %+v %+v", path, ps.Volumes, ct)
	}
	if ps.RestartPolicy != "OnFailure" && ps.RestartPolicy != "Never" {
		t.Errorf("%s: restartPolicy %q is not allowed for a Job", path, ps.RestartPolicy)
	}
	if ct.Image != "registry.example/entrolab:1" || ct.Resources.Requests["cpu"] != "2" || ct.Resources.Limits["memory"] != "3Gi" {
		t.Errorf("%s: container %+v", path, ct)
	}
	return j
}

func TestK8sIndexedJobManifest(t *testing.T) {
	chdirTemp(t)
	os.WriteFile("s.yaml", []byte(`name: K8s_Sweep
experiments: [grpo_addition, clip_cov_addition]
seeds: [1, 2, 3]
set: ["train.steps=3"]
k8s: {image: "registry.example/entrolab:1", claim: shared-runs, mount_path: /lab, cpu: "2", memory: 3Gi, parallelism: 4}
`), 0o644)
	c, err := Load("s.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := PlanK8s(c)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ReadManifest(c.Out)
	if err != nil {
		t.Fatal(err)
	}
	j := parseJob(t, filepath.Join(c.Out, "k8s", "job.yaml"))
	if j.Spec.CompletionMode != "Indexed" || j.Spec.Completions == nil || *j.Spec.Completions != len(m.Cells) || *j.Spec.Parallelism != 4 {
		t.Errorf("job spec: mode %q completions %v parallelism %v, want Indexed, %d, 4", j.Spec.CompletionMode, j.Spec.Completions, j.Spec.Parallelism, len(m.Cells))
	}
	if m.Workers != 2 {
		t.Errorf("workers = %d, want k8s.cpu = 2", m.Workers)
	}
	ct := j.Spec.Template.Spec.Containers[0]
	if len(ct.Env) != 1 || ct.Env[0].Name != "JOB_COMPLETION_INDEX" ||
		ct.Env[0].ValueFrom.FieldRef.FieldPath != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("JOB_COMPLETION_INDEX is not taken from the completion-index annotation: %+v", ct.Env)
	}
	// the pod with completion index i runs cell i of the sweep on the claim
	want := []string{"entrolab", "sweep", "run-cell", "runs/sweep-K8s_Sweep", "$(JOB_COMPLETION_INDEX)"}
	if strings.Join(ct.Command, " ") != strings.Join(want, " ") {
		t.Errorf("command %q, want %q", ct.Command, want)
	}
	for i := range m.Cells {
		args := strings.ReplaceAll(strings.Join(ct.Command[3:], " "), "$(JOB_COMPLETION_INDEX)", strconv.Itoa(i))
		dir, idx, _ := strings.Cut(args, " ")
		if filepath.Join(ct.WorkingDir, dir) != filepath.Join("/lab", c.Out) || idx != strconv.Itoa(m.Cells[i].Index) {
			t.Errorf("index %d runs %q", i, args)
		}
	}
	prep := parseJob(t, filepath.Join(c.Out, "k8s", "prepare-job.yaml"))
	rep := parseJob(t, filepath.Join(c.Out, "k8s", "report-job.yaml"))
	if got := prep.Spec.Template.Spec.Containers[0].Command; strings.Join(got[1:], " ") != "sweep prepare runs/sweep-K8s_Sweep" {
		t.Errorf("prepare command %q", got)
	}
	if got := rep.Spec.Template.Spec.Containers[0].Command; strings.Join(got[1:], " ") != "sweep report runs/sweep-K8s_Sweep" {
		t.Errorf("report command %q", got)
	}
	if prep.Spec.CompletionMode != "" || rep.Spec.Completions != nil {
		t.Errorf("prepare and report are plain one-pod Jobs")
	}
	if len(p.Files) != 3 {
		t.Errorf("files %v", p.Files)
	}
	// an absolute out cannot be found on the claim
	c.Out = "/elsewhere/x"
	if _, err := PlanK8s(c); err == nil || !strings.Contains(err.Error(), "out") {
		t.Errorf("absolute out: %v", err)
	}
}
