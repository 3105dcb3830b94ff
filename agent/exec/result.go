package exec

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// messageLimit keeps a Result's Message well inside the termination message.
const messageLimit = 1024

// report writes the container's done file and the Result to the
// termination log, and returns the exit code the wrapper exits with.
// Results larger than the termination message are stored at
// spec.Offload. spec may be nil (it could not be read).
func (o Options) report(ctx context.Context, container string, spec *Spec, res Result, exit int) int {
	var offload *Location
	limit := TerminationMessageLimit
	if spec != nil {
		offload = spec.Offload
		if spec.MessageLimit > 0 && spec.MessageLimit < limit {
			limit = spec.MessageLimit
		}
	}
	data, exit := o.terminationPayload(ctx, offload, limit, res, exit)
	if container != "" {
		if err := o.writeDone(container, exit); err != nil {
			o.logf("%v", err)
		}
	}
	if err := writeFileAtomicOrInPlace(o.TerminationLog, data); err != nil {
		o.logf("writing the termination message %s: %v", o.TerminationLog, err)
		if exit == 0 {
			exit = 1
		}
	}
	return exit
}

// terminationPayload encodes res for the termination message, offloading
// it when it does not fit.
func (o Options) terminationPayload(ctx context.Context, offload *Location, limit int, res Result, exit int) ([]byte, int) {
	res.Message = clip(res.Message, min(messageLimit, limit/2))
	data, err := json.Marshal(res)
	if err != nil { // cannot happen with these types
		data = []byte(fmt.Sprintf(`{"message":%q}`, "encoding the result: "+err.Error()))
		return data, nonZero(exit)
	}
	if len(data) <= limit {
		return data, exit
	}
	var msg string
	if offload != nil {
		if err := o.putBytes(ctx, *offload, data); err == nil {
			small := Result{ExitCode: res.ExitCode, Offloaded: offload, Message: clip(res.Message, 256)}
			if out, _ := json.Marshal(small); len(out) <= limit {
				return out, exit
			}
			small.Message = ""
			if out, _ := json.Marshal(small); len(out) <= limit {
				return out, exit
			}
			msg = fmt.Sprintf("the step's outputs are %d bytes and were stored at %s, but that location is too long to report: use a shorter key", len(data), describe(*offload))
		} else {
			msg = fmt.Sprintf("the step's outputs are %d bytes, more than the %s a termination message holds, and storing them at %s failed: %v",
				len(data), sizeText(limit), describe(*offload), err)
		}
	} else {
		msg = fmt.Sprintf("the step's outputs are %d bytes, more than the %s a termination message holds: "+
			"configure a default artifact repository (the artifact-repositories ConfigMap named in argolite-config) so large outputs are stored there",
			len(data), sizeText(limit))
	}
	o.logf("%s", msg)
	small := Result{ExitCode: res.ExitCode, Message: clip(msg, min(messageLimit, limit-64))}
	out, _ := json.Marshal(small)
	return out, nonZero(exit)
}

// sizeText is "4 KiB" for 4096, else "N bytes".
func sizeText(n int) string {
	if n%1024 == 0 {
		return fmt.Sprintf("%d KiB", n/1024)
	}
	return fmt.Sprintf("%d bytes", n)
}

func nonZero(code int) int {
	if code == 0 {
		return 1
	}
	return code
}

// writeDone writes Dir/done/CONTAINER holding the exit code.
func (o Options) writeDone(container string, code int) error {
	dir := filepath.Join(o.Dir, "done")
	if err := mkdirShared(dir); err != nil {
		return fmt.Errorf("writing the done file of container %q: %w", container, err)
	}
	path := filepath.Join(dir, container)
	if err := writeFileAtomic(path, []byte(strconv.Itoa(code)), 0o644); err != nil {
		return fmt.Errorf("writing the done file %s: %w", path, err)
	}
	return nil
}

// clip shortens s to at most n bytes.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const more = " ... (truncated)"
	cut := n - len(more)
	for cut > 0 && cut < len(s) && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut] + more
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// writeFileAtomic writes data to a temporary file next to path and renames
// it into place, so a reader never sees a partial file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// writeFileAtomicOrInPlace writes the termination message. The kubelet
// bind-mounts /dev/termination-log as a file, which cannot be renamed over:
// write it in place there.
func writeFileAtomicOrInPlace(path string, data []byte) error {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
		return os.WriteFile(path, data, fi.Mode().Perm())
	}
	return writeFileAtomic(path, data, 0o644)
}

// createFile creates path and its parent directories.
func createFile(path string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return os.Create(path)
}

// describe names a location for messages, without credentials.
func describe(l Location) string {
	switch {
	case l.S3 != nil:
		return fmt.Sprintf("s3://%s/%s (endpoint %s)", l.S3.Bucket, strings.TrimPrefix(l.S3.Key, "/"), l.S3.Endpoint)
	case l.HTTP != nil:
		return redactURL(l.HTTP.URL)
	case l.Raw != nil:
		return "a raw artifact"
	default:
		return "an empty location"
	}
}
