package ocispec

import "github.com/minipod/minipod/api"

// EnvValues are the container's environment variables as the kubelet hands them to the
// runtime (makeEnvironmentVariables), for what is expanded from them outside the process,
// such as subPathExpr: resolved (sources included) when the caller resolved them, else the
// values as written, each expanded from those before it as withProcess does. The image's
// variables are not among them: the kubelet never sees them.
func EnvValues(c *api.Container, resolved []api.EnvVar) map[string]string {
	vars := map[string]string{}
	if resolved != nil {
		for _, e := range resolved {
			vars[e.Name] = e.Value
		}
		return vars
	}
	for _, e := range c.Env {
		vars[e.Name] = expand(e.Value, vars)
	}
	return vars
}
