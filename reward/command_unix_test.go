//go:build unix

package reward

import (
	"syscall"
	"testing"
)

// TestCommandOwnProcessGroup: a terminal's Ctrl-C (sent to entrolab's
// process group) does not reach the child, which keeps answering until the
// step ends.
func TestCommandOwnProcessGroup(t *testing.T) {
	c, _ := startChild(t, "good", "10s")
	pg, err := syscall.Getpgid(c.proc.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if pg == syscall.Getpgrp() {
		t.Errorf("child process group %d is entrolab's", pg)
	}
}
