package api

import "net/http"

// contentSecurityPolicy is the policy for the dashboard and every other answer: the app's
// scripts, styles, images and connections (API and WebSocket) come from this origin only;
// no plugins, no <base> rewriting, and only this origin may frame it (clickjacking).
//
// The built app (frontend/dist) needs nothing looser: no inline <script> or <style>, no
// eval or new Function, no style="" in its HTML; Preact and uPlot set styles through the
// CSSOM (element.style), which style-src does not govern. data: images are allowed for
// icons a stylesheet may inline. connect-src 'self' covers ws:/wss: to the same host.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self'; connect-src 'self'; object-src 'none'; " +
	"base-uri 'none'; form-action 'self'; frame-ancestors 'self'"

// securityHeaders sets the headers every response carries, before anything else runs, so
// error answers (a refused cross-origin request included) carry them too.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Referrer-Policy", "same-origin")
		hdr.Set("X-Frame-Options", "SAMEORIGIN") // for browsers without frame-ancestors
		h.ServeHTTP(w, r)
	})
}
