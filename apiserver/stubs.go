package apiserver

import "net/http"

func (s *Server) patchPod(w http.ResponseWriter, r *http.Request)  { writeError(w, errMethodNotSupported(podsResource, "patch")) }
func (s *Server) updatePod(w http.ResponseWriter, r *http.Request) { writeError(w, errMethodNotSupported(podsResource, "update")) }
func (s *Server) podLog(w http.ResponseWriter, r *http.Request)    { writeError(w, errMethodNotSupported(podsResource, "log")) }
func (s *Server) podExec(w http.ResponseWriter, r *http.Request)   { writeError(w, errMethodNotSupported(podsResource, "exec")) }
func (s *Server) podAttach(w http.ResponseWriter, r *http.Request) { writeError(w, errMethodNotSupported(podsResource, "attach")) }
func (s *Server) podPortForward(w http.ResponseWriter, r *http.Request) {
	writeError(w, errMethodNotSupported(podsResource, "portforward"))
}
