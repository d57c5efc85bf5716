// Package flavortest is the conformance harness every flavor's tests run:
// load, predict, concurrent predict, close twice, predict after close.
package flavortest
