package podconfig

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/minipod/minipod/api"
)

// File is one file of a volume: its content and mode (the kubelet's FileProjection).
type File struct {
	Data []byte
	Mode int32
}

// Payload is a volume's files by path relative to the volume.
type Payload map[string]File

// IsConfigVolume reports whether a volume's files are computed here: configMap, secret,
// downwardAPI and projected volumes.
func IsConfigVolume(v *api.Volume) bool {
	return v.ConfigMap != nil || v.Secret != nil || v.DownwardAPI != nil || v.Projected != nil
}

// VolumePayload computes the files of a configMap, secret, downwardAPI or projected volume as
// the kubelet's volume plugins do when they set it up. A missing required object is the
// kubelet's error (configmap "x" not found), which fails the volume's setup; an optional one
// gives an empty volume (or, projected, no files from that source).
func VolumePayload(v *api.Volume, pod *api.Pod, facts Facts, objects Source) (Payload, error) {
	ns := pod.Metadata.Namespace
	switch {
	case v.ConfigMap != nil:
		src := v.ConfigMap
		cm, err := configMapOrEmpty(objects, ns, src.Name, isTrue(src.Optional))
		if err != nil {
			return nil, err
		}
		return configMapPayload(src.Items, cm, deref(src.DefaultMode, api.ConfigMapVolumeSourceDefaultMode), isTrue(src.Optional))
	case v.Secret != nil:
		src := v.Secret
		s, err := secretOrEmpty(objects, ns, src.SecretName, isTrue(src.Optional))
		if err != nil {
			return nil, err
		}
		return secretPayload(src.Items, s, deref(src.DefaultMode, api.SecretVolumeSourceDefaultMode), isTrue(src.Optional))
	case v.DownwardAPI != nil:
		return downwardAPIPayload(v.DownwardAPI.Items, pod, facts, deref(v.DownwardAPI.DefaultMode, api.DownwardAPIVolumeSourceDefaultMode))
	case v.Projected != nil:
		return projectedPayload(v.Projected, pod, facts, objects)
	}
	return nil, fmt.Errorf("volume %q is not a configuration volume", v.Name)
}

func deref(m *int32, def int32) int32 {
	if m == nil {
		return def
	}
	return *m
}

func configMapOrEmpty(objects Source, ns, name string, optional bool) (*api.ConfigMap, error) {
	cm, err := objects.ConfigMap(ns, name)
	if err != nil {
		if isNotFound(err) && optional {
			return &api.ConfigMap{}, nil
		}
		return nil, err
	}
	return cm, nil
}

func secretOrEmpty(objects Source, ns, name string, optional bool) (*api.Secret, error) {
	s, err := objects.Secret(ns, name)
	if err != nil {
		if isNotFound(err) && optional {
			return &api.Secret{}, nil
		}
		return nil, err
	}
	return s, nil
}

// configMapPayload is pkg/volume/configmap MakePayload: every key of data and binaryData, or
// the items asked for, each with its mode or the default.
func configMapPayload(items []api.KeyToPath, cm *api.ConfigMap, defaultMode int32, optional bool) (Payload, error) {
	p := Payload{}
	if len(items) == 0 {
		for k, v := range cm.Data {
			p[k] = File{Data: []byte(v), Mode: defaultMode}
		}
		for k, v := range cm.BinaryData {
			p[k] = File{Data: v, Mode: defaultMode}
		}
		return p, nil
	}
	for _, it := range items {
		var data []byte
		if s, ok := cm.Data[it.Key]; ok {
			data = []byte(s)
		} else if b, ok := cm.BinaryData[it.Key]; ok {
			data = b
		} else {
			if optional {
				continue
			}
			return nil, fmt.Errorf("configmap references non-existent config key: %s", it.Key)
		}
		p[it.Path] = File{Data: data, Mode: deref(it.Mode, defaultMode)}
	}
	return p, nil
}

// secretPayload is pkg/volume/secret MakePayload.
func secretPayload(items []api.KeyToPath, s *api.Secret, defaultMode int32, optional bool) (Payload, error) {
	p := Payload{}
	if len(items) == 0 {
		for k, v := range s.Data {
			p[k] = File{Data: v, Mode: defaultMode}
		}
		return p, nil
	}
	for _, it := range items {
		v, ok := s.Data[it.Key]
		if !ok {
			if optional {
				continue
			}
			return nil, fmt.Errorf("references non-existent secret key: %s", it.Key)
		}
		p[it.Path] = File{Data: v, Mode: deref(it.Mode, defaultMode)}
	}
	return p, nil
}

// downwardAPIPayload is pkg/volume/downwardapi CollectData: each item's field or resource;
// every failing item is reported.
func downwardAPIPayload(items []api.DownwardAPIVolumeFile, pod *api.Pod, facts Facts, defaultMode int32) (Payload, error) {
	p := Payload{}
	var errs []error
	for _, it := range items {
		f := File{Mode: deref(it.Mode, defaultMode)}
		switch {
		case it.FieldRef != nil:
			v, err := extractFieldPathAsString(&pod.Metadata, api.DownwardAPIFieldPath(it.FieldRef))
			if err != nil {
				errs = append(errs, err)
			} else {
				f.Data = []byte(v)
			}
		case it.ResourceFieldRef != nil:
			v, err := ResourceValue(it.ResourceFieldRef, pod, nil, facts.Allocatable)
			if err != nil {
				errs = append(errs, err)
			} else {
				f.Data = []byte(v)
			}
		}
		p[filepath.Clean(it.Path)] = f
	}
	return p, aggregate(errs)
}

// projectedPayload is pkg/volume/projected collectData: the sources in order, a later file
// replacing an earlier one of the same path; every failing source is reported.
func projectedPayload(v *api.ProjectedVolumeSource, pod *api.Pod, facts Facts, objects Source) (Payload, error) {
	mode := deref(v.DefaultMode, api.ProjectedVolumeSourceDefaultMode)
	ns := pod.Metadata.Namespace
	p := Payload{}
	var errs []error
	add := func(q Payload, err error) {
		if err != nil {
			errs = append(errs, err)
			return
		}
		for k, f := range q {
			p[k] = f
		}
	}
	for _, src := range v.Sources {
		switch {
		case src.Secret != nil:
			s, err := secretOrEmpty(objects, ns, src.Secret.Name, isTrue(src.Secret.Optional))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			add(secretPayload(src.Secret.Items, s, mode, isTrue(src.Secret.Optional)))
		case src.ConfigMap != nil:
			cm, err := configMapOrEmpty(objects, ns, src.ConfigMap.Name, isTrue(src.ConfigMap.Optional))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			add(configMapPayload(src.ConfigMap.Items, cm, mode, isTrue(src.ConfigMap.Optional)))
		case src.DownwardAPI != nil:
			add(downwardAPIPayload(src.DownwardAPI.Items, pod, facts, mode))
		}
	}
	return p, aggregate(errs)
}

// aggregate is apimachinery's utilerrors.NewAggregate as it prints: one error as itself,
// several as [a, b] without repeats.
func aggregate(errs []error) error {
	switch len(errs) {
	case 0:
		return nil
	case 1:
		return errs[0]
	}
	seen := map[string]bool{}
	var msgs []string
	for _, e := range errs {
		if m := e.Error(); !seen[m] {
			seen[m] = true
			msgs = append(msgs, m)
		}
	}
	if len(msgs) == 1 {
		return fmt.Errorf("%s", msgs[0])
	}
	return fmt.Errorf("[%s]", strings.Join(msgs, ", "))
}
