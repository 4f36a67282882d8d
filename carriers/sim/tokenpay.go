package sim

import "net/http"

// routesTokenPay mounts the token-and-callback protocol at /sim/{carrier}/tokenpay/.
func (s *Simulator) routesTokenPay(mux *http.ServeMux) {}
