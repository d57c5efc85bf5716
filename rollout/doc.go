// Package rollout keeps the state of a registry-driven progressive rollout:
// which version is stable, which is the candidate, the candidate's share of
// the traffic and of the shadow traffic, the steps, and how the rollout
// ended. The state is one JSON value in one registered-model tag (TagKey),
// so any MLflow registry holds it, every replica reads the same split, and
// each change is a single atomic tag write.
//
// The Controller (`mlgate rollout`) drives a rollout over a registry and a
// tracking client: it starts one, judges each analysis interval's figures
// that the replicas log to their serving runs (Analyze), advances the
// steps, and promotes (moves the stable alias) or rolls back. It may import
// registry and tracking; it must not import serve, flavors or internal/app.
package rollout
