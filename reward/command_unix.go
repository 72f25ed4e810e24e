//go:build unix

package reward

import (
	"os/exec"
	"syscall"
)

// detach puts the child in its own process group, so that a Ctrl-C at the
// terminal reaches entrolab (which stops between steps) and not the child
// in the middle of a reply.
func detach(p *exec.Cmd) { p.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// killAll kills the child and whatever it started (its process group).
func killAll(p *exec.Cmd) {
	if err := syscall.Kill(-p.Process.Pid, syscall.SIGKILL); err != nil {
		p.Process.Kill()
	}
}
