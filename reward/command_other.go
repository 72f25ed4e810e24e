//go:build !unix

package reward

import "os/exec"

func detach(p *exec.Cmd) {}

func killAll(p *exec.Cmd) { p.Process.Kill() }
