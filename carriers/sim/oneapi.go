package sim

import "net/http"

// routesOneAPI mounts the GSMA OneAPI Payment protocol at /sim/{carrier}/oneapi/.
func (s *Simulator) routesOneAPI(mux *http.ServeMux) {}
