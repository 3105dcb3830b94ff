package v1alpha1

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
)

// maxInflatedNodes bounds the JSON that InflateNodes decompresses, so that a
// hand-written compressedNodes cannot exhaust memory. Real workflows stay far
// below it: 1,000 nodes with outputs take well under 1 MiB.
const maxInflatedNodes = 256 << 20

// InflateNodes moves status.compressedNodes back into status.nodes and clears
// it. Everything that reads nodes calls it right after reading a Workflow; a
// workflow without compressedNodes is left as it is. Corrupt data is an error
// naming the workflow, and the workflow is then unchanged.
func (wf *Workflow) InflateNodes() error {
	st := &wf.Status
	if st.CompressedNodes == "" {
		return nil
	}
	nodes, err := decodeNodes(st.CompressedNodes)
	if err != nil {
		return fmt.Errorf("status.compressedNodes of workflow %s/%s is corrupt: %w", wf.Namespace, wf.Name, err)
	}
	// The compressed form holds every node: it replaces whatever is in nodes.
	st.Nodes, st.CompressedNodes = nodes, ""
	return nil
}

// DeflateNodes moves status.nodes into status.compressedNodes (the gzipped,
// then base64-encoded JSON of the map, as Argo writes it) and clears nodes.
// A workflow without nodes is left as it is.
func (wf *Workflow) DeflateNodes() error {
	st := &wf.Status
	if len(st.Nodes) == 0 {
		return nil
	}
	raw, err := json.Marshal(st.Nodes)
	if err != nil {
		return fmt.Errorf("compressing the nodes of workflow %s/%s: %w", wf.Namespace, wf.Name, err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		return fmt.Errorf("compressing the nodes of workflow %s/%s: %w", wf.Namespace, wf.Name, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compressing the nodes of workflow %s/%s: %w", wf.Namespace, wf.Name, err)
	}
	st.CompressedNodes, st.Nodes = base64.StdEncoding.EncodeToString(buf.Bytes()), nil
	return nil
}

func decodeNodes(s string) (Nodes, error) {
	gz, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("not gzip: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, maxInflatedNodes+1))
	if err != nil {
		return nil, fmt.Errorf("not gzip: %w", err)
	}
	if len(raw) > maxInflatedNodes {
		return nil, fmt.Errorf("it inflates to more than %d bytes", maxInflatedNodes)
	}
	var nodes Nodes
	if err := json.Unmarshal(raw, &nodes); err != nil {
		return nil, fmt.Errorf("not a JSON map of nodes: %w", err)
	}
	return nodes, nil
}
