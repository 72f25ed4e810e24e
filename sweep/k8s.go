package sweep

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/entrolab/entrolab/internal/atomicfile"
	"gopkg.in/yaml.v3"
)

// K8sConfig is the sweep file's k8s: section, for the Indexed Job manifest.
type K8sConfig struct {
	Image        string `mapstructure:"image"`         // container image holding the entrolab binary
	Entrolab     string `mapstructure:"entrolab"`      // the binary in the image; default entrolab
	Namespace    string `mapstructure:"namespace"`     // "" = the kubectl context's
	Claim        string `mapstructure:"claim"`         // PersistentVolumeClaim shared by the pods (ReadWriteMany)
	MountPath    string `mapstructure:"mount_path"`    // where the claim is mounted and the pods start; default /work
	CPU          string `mapstructure:"cpu"`           // per pod, request and limit; "" = workers
	Memory       string `mapstructure:"memory"`        // per pod, request and limit (4Gi); "" = none
	Parallelism  int    `mapstructure:"parallelism"`   // pods at once; 0 = all cells
	BackoffLimit int    `mapstructure:"backoff_limit"` // failed pods retried before the Job fails; default 6
}

// DefaultK8sConfig mounts the claim at /work and retries a pod 6 times.
func DefaultK8sConfig() K8sConfig {
	return K8sConfig{Entrolab: "entrolab", Claim: "entrolab-work", MountPath: "/work", BackoffLimit: 6}
}

var (
	k8sNameRe     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	k8sQuantityRe = regexp.MustCompile(`^\d+(\.\d+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$`)
)

func (k K8sConfig) validate() error {
	switch {
	case strings.ContainsAny(k.Image, " \t\n\r"):
		return fmt.Errorf("k8s.image = %q holds whitespace", k.Image)
	case k.Namespace != "" && !k8sNameRe.MatchString(k.Namespace):
		return fmt.Errorf("k8s.namespace = %q, want a DNS label (lower-case letters, digits, -)", k.Namespace)
	case !k8sNameRe.MatchString(k.Claim):
		return fmt.Errorf("k8s.claim = %q, want a DNS label (lower-case letters, digits, -)", k.Claim)
	case !filepath.IsAbs(k.MountPath):
		return fmt.Errorf("k8s.mount_path = %q, want an absolute path", k.MountPath)
	case k.CPU != "" && !k8sQuantityRe.MatchString(k.CPU):
		return fmt.Errorf("k8s.cpu = %q, want a quantity such as 2 or 500m", k.CPU)
	case k.Memory != "" && !k8sQuantityRe.MatchString(k.Memory):
		return fmt.Errorf("k8s.memory = %q, want a quantity such as 4Gi", k.Memory)
	case k.Parallelism < 0 || k.BackoffLimit < 0:
		return fmt.Errorf("k8s.parallelism = %d, k8s.backoff_limit = %d, want ≥ 0", k.Parallelism, k.BackoffLimit)
	case k.Entrolab == "":
		return fmt.Errorf("k8s.entrolab is empty, want the binary's name or path in the image")
	}
	return nil
}

func (k K8sConfig) cpus() int {
	var n int
	if _, err := fmt.Sscanf(k.CPU, "%d", &n); err == nil && n > 0 && !strings.HasSuffix(k.CPU, "m") {
		return n
	}
	return 1
}

// K8sPlan is the manifests of a sweep for Kubernetes.
type K8sPlan struct {
	Prepare, Job, Report string // YAML: the base-policy Job, the Indexed Job of the cells, the report Job
	Files                []string
}

// PlanK8s writes the manifest of cells and three Kubernetes Job manifests
// into DIR/k8s/: prepare-job.yaml (makes the base policies; apply it first
// and wait for it), job.yaml (an Indexed Job: the pod with completion index
// i runs cell i; JOB_COMPLETION_INDEX is set from the pod's annotation) and
// report-job.yaml (apply once job.yaml has completed). The pods mount the
// claim at k8s.mount_path and start there: the sweep's out, a relative path,
// and the runs/base/ cache lie on the claim.
func PlanK8s(c Config) (K8sPlan, error) {
	if filepath.IsAbs(c.Out) || strings.HasPrefix(filepath.Clean(c.Out), "..") {
		return K8sPlan{}, fmt.Errorf("sweep: k8s: out = %q, want a path inside the working directory (the pods mount it at k8s.mount_path)", c.Out)
	}
	if c.K8s.Image == "" {
		return K8sPlan{}, fmt.Errorf("sweep: k8s: k8s.image is empty, want the container image holding entrolab")
	}
	m, err := WriteManifest(c, c.WorkersFor("k8s"))
	if err != nil {
		return K8sPlan{}, err
	}
	name := k8sName("entrolab-" + c.Name)
	dir := filepath.ToSlash(filepath.Clean(c.Out))
	cpu := c.K8s.CPU
	if cpu == "" {
		cpu = fmt.Sprint(m.Workers)
	}
	labels := map[string]string{"app.kubernetes.io/name": "entrolab", "entrolab.dev/sweep": k8sName(c.Name)}
	container := func(args ...string) map[string]any {
		ct := map[string]any{
			"name":         "entrolab",
			"image":        c.K8s.Image,
			"workingDir":   c.K8s.MountPath,
			"command":      append([]string{c.K8s.Entrolab, "sweep"}, args...),
			"volumeMounts": []any{map[string]any{"name": "work", "mountPath": c.K8s.MountPath}},
		}
		res := map[string]any{"cpu": cpu}
		if c.K8s.Memory != "" {
			res["memory"] = c.K8s.Memory
		}
		ct["resources"] = map[string]any{"requests": res, "limits": res}
		return ct
	}
	job := func(jobName string, spec map[string]any, ct map[string]any) string {
		meta := map[string]any{"name": jobName, "labels": labels}
		if c.K8s.Namespace != "" {
			meta["namespace"] = c.K8s.Namespace
		}
		spec["backoffLimit"] = c.K8s.BackoffLimit
		spec["template"] = map[string]any{
			"metadata": map[string]any{"labels": labels},
			"spec": map[string]any{
				// OnFailure: a failed or evicted cell restarts and resumes from its checkpoint
				"restartPolicy":                 "OnFailure",
				"terminationGracePeriodSeconds": 60,
				"containers":                    []any{ct},
				"volumes":                       []any{map[string]any{"name": "work", "persistentVolumeClaim": map[string]any{"claimName": c.K8s.Claim}}},
			},
		}
		b, _ := yaml.Marshal(map[string]any{"apiVersion": "batch/v1", "kind": "Job", "metadata": meta, "spec": spec})
		return string(b)
	}
	cell := container("run-cell", dir, "$(JOB_COMPLETION_INDEX)")
	cell["env"] = []any{map[string]any{
		"name":      "JOB_COMPLETION_INDEX",
		"valueFrom": map[string]any{"fieldRef": map[string]any{"fieldPath": "metadata.annotations['batch.kubernetes.io/job-completion-index']"}},
	}}
	par := c.K8s.Parallelism
	if par == 0 {
		par = len(m.Cells)
	}
	p := K8sPlan{
		Prepare: fmt.Sprintf("# entrolab sweep %s: makes the base policies; apply first and wait for it\n", c.Name) +
			job(k8sName(name+"-prepare"), map[string]any{}, container("prepare", dir)),
		Job: fmt.Sprintf("# entrolab sweep %s: %d cells; the pod with completion index i runs cell i of %s/%s\n", c.Name, len(m.Cells), dir, ManifestFile) +
			job(name, map[string]any{"completions": len(m.Cells), "parallelism": par, "completionMode": "Indexed"}, cell),
		Report: fmt.Sprintf("# entrolab sweep %s: gathers the finished cells; apply when %s has completed\n", c.Name, name) +
			job(k8sName(name+"-report"), map[string]any{}, container("report", dir)),
	}
	out := filepath.Join(c.Out, "k8s")
	if err := os.MkdirAll(out, 0o755); err != nil {
		return p, err
	}
	for _, f := range []struct{ name, text string }{{"prepare-job.yaml", p.Prepare}, {"job.yaml", p.Job}, {"report-job.yaml", p.Report}} {
		path := filepath.Join(out, f.name)
		if err := atomicfile.Write(path, []byte(f.text)); err != nil {
			return p, err
		}
		p.Files = append(p.Files, path)
	}
	return p, nil
}

var k8sBad = regexp.MustCompile(`[^a-z0-9-]+`)

// k8sName makes a DNS-1123 label of at most 63 characters.
func k8sName(s string) string {
	s = strings.Trim(k8sBad.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	return s
}
