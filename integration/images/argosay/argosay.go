package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// usageCode is the exit code of a missing argument: what dash exits with
// when set -u stops the script.
const usageCode = 2

// echoSettle is how long echo waits after writing a file. The script
// sleeps so that Argo's PNS executor can secure the root file system
// before the container exits; kept so a step takes as long as in Argo.
const echoSettle = 100 * time.Millisecond

// argosay runs one command line and returns the exit code, with an error to
// print when the code is not 0.
func argosay(args []string, stdout io.Writer) (int, error) {
	if len(args) == 0 {
		fmt.Fprintln(stdout, "hello argo")
		return 0, nil
	}
	arg := func(i int) (string, error) {
		if i >= len(args) {
			return "", fmt.Errorf("%s: argument %d not set", args[0], i)
		}
		return args[i], nil
	}
	switch args[0] {
	case "assert_contains":
		file, err := arg(1)
		if err != nil {
			return usageCode, err
		}
		substr, err := arg(2)
		if err != nil {
			return usageCode, err
		}
		return assertContains(file, substr, stdout)
	case "cat":
		file, err := arg(1)
		if err != nil {
			return usageCode, err
		}
		return cat(file, stdout)
	case "echo":
		return echo(args[1:], stdout)
	case "exit":
		if len(args) < 2 {
			return 0, nil
		}
		code, err := strconv.Atoi(args[1])
		if err != nil || code < 0 || code > 255 {
			return usageCode, fmt.Errorf("exit: illegal number: %s", args[1])
		}
		if code != 0 {
			return code, fmt.Errorf("exit code %d", code)
		}
		return 0, nil
	case "sleep":
		s, err := arg(1)
		if err != nil {
			return usageCode, err
		}
		d, err := parseSleep(s)
		if err != nil {
			return 1, err
		}
		time.Sleep(d)
		return 0, nil
	case "sh":
		script := "0" // the script's "${2:-0}": sh then fails to open "0"
		if len(args) > 1 && args[1] != "" {
			script = args[1]
		}
		return runShell(script)
	}
	return 1, fmt.Errorf("unknown command %q: use echo, cat, assert_contains, sleep, exit or sh", args[0])
}

// echo is the script's echo: no text prints "hello argo", one prints it,
// two write the text to the file; more do nothing, as the script's case
// has no branch for them.
func echo(args []string, stdout io.Writer) (int, error) {
	switch len(args) {
	case 0:
		fmt.Fprintln(stdout, "hello argo")
	case 1:
		if _, err := io.WriteString(stdout, shEcho(args[0])); err != nil {
			return 1, err
		}
	case 2:
		file := args[1]
		if err := os.MkdirAll(filepath.Dir(file), 0o777); err != nil {
			return 1, err
		}
		if err := os.WriteFile(file, []byte(shEcho(args[0])), 0o666); err != nil {
			return 1, err
		}
		time.Sleep(echoSettle)
	}
	return 0, nil
}

// shEcho is what `echo "$TEXT"` prints in the script's /bin/sh (dash, in
// Argo's image): "-n" alone prints nothing, the escapes \a \b \c \f \n \r
// \t \v \\ and \0NNN (octal) are interpreted, \c ends the output without
// the newline, and any other backslash is kept.
func shEcho(text string) string {
	if text == "-n" {
		return ""
	}
	escapes := map[byte]byte{'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v', '\\': '\\'}
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		c := text[i]
		if c != '\\' || i+1 == len(text) {
			b.WriteByte(c)
			continue
		}
		next := text[i+1]
		switch {
		case next == 'c':
			return b.String()
		case next == '0':
			v, j := 0, i+2
			for ; j < len(text) && j < i+5 && text[j] >= '0' && text[j] <= '7'; j++ {
				v = v*8 + int(text[j]-'0')
			}
			b.WriteByte(byte(v))
			i = j - 1
		case escapes[next] != 0:
			b.WriteByte(escapes[next])
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String() + "\n"
}

func cat(file string, stdout io.Writer) (int, error) {
	f, err := os.Open(file)
	if err != nil {
		return 1, err
	}
	defer f.Close()
	if _, err := io.Copy(stdout, f); err != nil {
		return 1, err
	}
	return 0, nil
}

// assertContains is grep -F S FILE: the matching lines, exit 1 when there
// are none, 2 when FILE cannot be read.
func assertContains(file, substr string, stdout io.Writer) (int, error) {
	f, err := os.Open(file)
	if err != nil {
		return 2, err
	}
	defer f.Close()
	found := false
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if line != "" && strings.Contains(strings.TrimSuffix(line, "\n"), substr) {
			found = true
			fmt.Fprintln(stdout, strings.TrimSuffix(line, "\n"))
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return 2, err
		}
	}
	if !found {
		return 1, fmt.Errorf("%s does not contain %q", file, substr)
	}
	return 0, nil
}

// parseSleep reads coreutils sleep's NUMBER[smhd] (the script calls the
// image's sleep), and also a Go duration such as 1m30s.
func parseSleep(s string) (time.Duration, error) {
	units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}
	num, unit := s, time.Second
	if n := len(s); n > 0 {
		if u, ok := units[s[n-1]]; ok {
			num, unit = s[:n-1], u
		}
	}
	if f, err := strconv.ParseFloat(num, 64); err == nil && f >= 0 {
		return time.Duration(f * float64(unit)), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	return 0, fmt.Errorf("sleep: invalid time interval %q", s)
}

// runShell runs script with /bin/sh, its output and exit code argosay's.
func runShell(script string) (int, error) {
	cmd := exec.Command("/bin/sh", script)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	if err != nil {
		return 127, err
	}
	return 0, nil
}
