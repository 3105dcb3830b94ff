package workflow

import (
	"encoding/json"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	argov1 "github.com/argolite/argolite/shared/api/v1alpha1"
)

// Memoization keeps a template's outputs in a ConfigMap under its memoize
// key, in Argo's format, so a later run with the same key reuses them.

// labelConfigMapType marks the cache ConfigMaps, as Argo does.
const labelConfigMapType = "workflows.argoproj.io/configmap-type"

// cacheEntry is one memoized result (Argo's Entry).
type cacheEntry struct {
	NodeID            string          `json:"nodeID"`
	Outputs           *argov1.Outputs `json:"outputs"`
	CreationTimestamp metav1.Time     `json:"creationTimestamp"`
	LastHitTimestamp  metav1.Time     `json:"lastHitTimestamp"`
}

// memoLoad returns the cached outputs for m's key, if fresh enough.
func (o *operation) memoLoad(m *argov1.Memoize) (*argov1.Outputs, bool, error) {
	if m.Cache == nil || m.Cache.ConfigMap == nil || m.Cache.ConfigMap.Name == "" {
		return nil, false, specError("memoize.cache.configMap.name is empty: name the ConfigMap that keeps the cache")
	}
	cm := &corev1.ConfigMap{}
	err := o.r.APIReader.Get(o.ctx, client.ObjectKey{Namespace: o.wf.Namespace, Name: m.Cache.ConfigMap.Name}, cm)
	if apierrors.IsNotFound(err) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("reading memoization cache %s: %w", m.Cache.ConfigMap.Name, err)
	}
	raw, ok := cm.Data[m.Key]
	if !ok {
		return nil, false, nil
	}
	var e cacheEntry
	if err := json.Unmarshal([]byte(raw), &e); err != nil {
		return nil, false, nil // an unreadable entry is a miss
	}
	if m.MaxAge != "" {
		maxAge, err := time.ParseDuration(m.MaxAge)
		if err != nil {
			return nil, false, specError("memoize.maxAge %q: %v", m.MaxAge, err)
		}
		if o.now.Sub(e.CreationTimestamp.Time) > maxAge {
			return nil, false, nil
		}
	}
	return e.Outputs, true, nil
}

// memoSave stores a succeeded node's outputs under m's key.
func (o *operation) memoSave(m *argov1.Memoize, nodeID string, out *argov1.Outputs) error {
	name := m.Cache.ConfigMap.Name
	entry, err := json.Marshal(cacheEntry{NodeID: nodeID, Outputs: out, CreationTimestamp: metav1.NewTime(o.now), LastHitTimestamp: metav1.NewTime(o.now)})
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{}
	err = o.r.APIReader.Get(o.ctx, client.ObjectKey{Namespace: o.wf.Namespace, Name: name}, cm)
	if apierrors.IsNotFound(err) {
		cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: o.wf.Namespace,
			Labels: map[string]string{labelConfigMapType: "Cache"}}, Data: map[string]string{m.Key: string(entry)}}
		if err := o.r.Client.Create(o.ctx, cm); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating memoization cache %s: %w", name, err)
		} else if err == nil {
			return nil
		}
		if err := o.r.APIReader.Get(o.ctx, client.ObjectKey{Namespace: o.wf.Namespace, Name: name}, cm); err != nil {
			return err
		}
	} else if err != nil {
		return fmt.Errorf("reading memoization cache %s: %w", name, err)
	}
	patch := client.MergeFromWithOptions(cm.DeepCopy(), client.MergeFromWithOptimisticLock{})
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
	cm.Data[m.Key] = string(entry)
	if err := o.r.Client.Patch(o.ctx, cm, patch); err != nil {
		return fmt.Errorf("saving to memoization cache %s: %w", name, err)
	}
	return nil
}

// memoized is the node name as a cache hit, when the cache holds outputs
// for m's key; nil when it does not.
func (o *operation) memoized(name string, m *argov1.Memoize, t *argov1.Template, ref templateRef, opts execOpts) (*argov1.NodeStatus, error) {
	out, hit, err := o.memoLoad(m)
	if err != nil || !hit {
		return nil, err
	}
	typ := argov1.NodeTypePod
	switch {
	case t.Steps != nil:
		typ = argov1.NodeTypeSteps
	case t.DAG != nil:
		typ = argov1.NodeTypeDAG
	}
	hn := o.initNode(name, typ, ref, opts.boundaryID, argov1.NodeSucceeded, opts.flag, "")
	hn.Outputs = out
	hn.MemoizationStatus = &argov1.MemoizationStatus{Hit: true, Key: m.Key, CacheName: m.Cache.ConfigMap.Name}
	o.setNode(hn)
	o.addGlobalOutputs(out)
	return hn, nil
}

// memoRecord notes m's key on the node and, once it succeeded, caches its
// outputs; a cache that cannot be written only costs a later run its hit.
func (o *operation) memoRecord(name string, m *argov1.Memoize, result *argov1.NodeStatus) {
	if m == nil || result == nil || m.Cache == nil || m.Cache.ConfigMap == nil {
		return
	}
	if result.MemoizationStatus == nil {
		result.MemoizationStatus = &argov1.MemoizationStatus{Key: m.Key, CacheName: m.Cache.ConfigMap.Name}
		o.setNode(result)
	}
	if result.Phase == argov1.NodeSucceeded {
		if err := o.memoSave(m, result.ID, result.Outputs); err != nil {
			o.log.Error(err, "memoization cache", "node", name)
		}
	}
}
