package api

// setConfigDefaults applies the defaults of the configuration fields
// (pkg/apis/core/v1/defaults.go): a fieldRef's apiVersion is v1
// (SetDefaults_ObjectFieldSelector), a fileKeyRef is not optional, and the file modes of
// configMap, secret, downwardAPI and projected volumes are 0644
// (SetDefaults_*VolumeSource).
func setConfigDefaults(s *PodSpec) {
	for _, list := range [][]Container{s.InitContainers, s.Containers} {
		for i := range list {
			for j := range list[i].Env {
				if from := list[i].Env[j].ValueFrom; from != nil {
					defaultFieldRef(from.FieldRef)
					if f := from.FileKeyRef; f != nil && f.Optional == nil {
						f.Optional = new(bool)
					}
				}
			}
		}
	}
	for i := range s.Volumes {
		v := &s.Volumes[i]
		switch {
		case v.ConfigMap != nil:
			defaultMode(&v.ConfigMap.DefaultMode, ConfigMapVolumeSourceDefaultMode)
		case v.Secret != nil:
			defaultMode(&v.Secret.DefaultMode, SecretVolumeSourceDefaultMode)
		case v.DownwardAPI != nil:
			defaultMode(&v.DownwardAPI.DefaultMode, DownwardAPIVolumeSourceDefaultMode)
			defaultDownwardItems(v.DownwardAPI.Items)
		case v.Projected != nil:
			defaultMode(&v.Projected.DefaultMode, ProjectedVolumeSourceDefaultMode)
			for _, src := range v.Projected.Sources {
				if src.DownwardAPI != nil {
					defaultDownwardItems(src.DownwardAPI.Items)
				}
			}
		}
	}
}

func defaultMode(m **int32, def int32) {
	if *m == nil {
		*m = &def
	}
}

func defaultDownwardItems(items []DownwardAPIVolumeFile) {
	for i := range items {
		defaultFieldRef(items[i].FieldRef)
	}
}

func defaultFieldRef(f *ObjectFieldSelector) {
	if f != nil && f.APIVersion == "" {
		f.APIVersion = "v1"
	}
}

// SetSecretDefaults is SetDefaults_Secret (type Opaque) and the conversion of stringData,
// which the API server merges into data (its values win) and never stores.
func SetSecretDefaults(s *Secret) {
	if s.Type == "" {
		s.Type = SecretTypeOpaque
	}
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = map[string]Bytes{}
		}
		for k, v := range s.StringData {
			s.Data[k] = Bytes(v)
		}
	}
	s.StringData = nil
}
