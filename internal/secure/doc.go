// Package secure is the HTTP protection MLflow's tracking server puts in
// front of its routes (its "security middleware"), with MLflow's defaults:
//
//   - Host-header validation against DNS rebinding: a request whose Host is
//     not allowed is answered 403 (text/plain), except the health routes;
//   - a CORS allow-list (localhost origins always, plus the configured
//     ones), answering OPTIONS preflights as MLflow does;
//   - cross-origin state-changing requests (POST, PUT, DELETE, PATCH with a
//     foreign Origin) to API paths refused 403;
//   - X-Content-Type-Options: nosniff and X-Frame-Options on every answer.
//
// A Guard is built once from Options and wraps an http.Handler (Wrap) or
// runs as a check in front of one (Check, for gin's middleware chain). It
// imports no mlgate package and no web framework.
package secure
