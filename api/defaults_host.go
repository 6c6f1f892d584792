package api

// setHostDefaults applies the API server's defaults to the host and scheduling fields
// (pkg/apis/core/v1/defaults.go SetDefaults_PodSpec and SetDefaults_Pod): dnsPolicy
// ClusterFirst, schedulerName default-scheduler, enableServiceLinks true, and for a pod on
// the host's network every container port's hostPort is its containerPort.
func setHostDefaults(s *PodSpec) {
	if s.DNSPolicy == "" {
		s.DNSPolicy = DNSClusterFirst
	}
	if s.SchedulerName == "" {
		s.SchedulerName = DefaultSchedulerName
	}
	if s.EnableServiceLinks == nil {
		enable := true
		s.EnableServiceLinks = &enable
	}
	if s.HostNetwork {
		for _, list := range [][]Container{s.InitContainers, s.Containers} {
			for i := range list {
				for j := range list[i].Ports {
					if p := &list[i].Ports[j]; p.HostPort == 0 {
						p.HostPort = p.ContainerPort
					}
				}
			}
		}
	}
}

// DefaultSchedulerName is the scheduler a pod names when it names none.
const DefaultSchedulerName = "default-scheduler"
