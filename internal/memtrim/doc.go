// Package memtrim hands memory back to the kernel that a long-running
// server no longer uses.
//
// Trim drops the resident pages of the process's executable code once
// start-up is over. The kernel maps code in 64 KiB runs around every page a
// process touches ("fault-around"), so package initialisation and model
// loading leave most of the binary's and ONNX Runtime's code resident
// though a serving loop uses a small part of it. Trim drops those mappings
// (the pages stay in the page cache, shared and reclaimable) and marks them
// for random access, so that later faults map single pages.
//
// Releaser returns the free heap after outsized requests (see Releaser).
package memtrim
