package store

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
)

// newUUIDHex returns uuid4().hex: 32 lowercase hex digits.
func newUUIDHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

var (
	adjectives = []string{"able", "bold", "brave", "bright", "calm", "clever", "crisp", "dapper", "eager", "fair",
		"fun", "gentle", "glad", "grand", "happy", "honest", "jolly", "kind", "lively", "loud", "lucky", "merry",
		"nimble", "polite", "proud", "quick", "quiet", "rare", "shy", "silent", "smiling", "sneaky", "stately",
		"sunny", "swift", "tasteful", "thundering", "upbeat", "useful", "valuable", "vaunted", "wise", "witty"}
	nouns = []string{"ant", "ape", "asp", "bass", "bat", "bear", "bee", "bird", "boar", "bug", "calf", "carp", "cat",
		"colt", "conch", "cow", "crab", "crane", "deer", "doe", "dog", "dove", "duck", "eel", "elk", "fawn", "finch",
		"fish", "flea", "fly", "foal", "fowl", "fox", "frog", "gnat", "goat", "grouse", "gull", "hare", "hawk", "hen",
		"hog", "hound", "jay", "kit", "koi", "lamb", "lark", "loon", "lynx", "mare", "mink", "mole", "moth", "mouse",
		"mule", "newt", "owl", "ox", "panda", "perch", "pig", "pug", "ram", "rat", "ray", "roo", "seal", "shark",
		"shrew", "skink", "slug", "snail", "snake", "squid", "stag", "stork", "swan", "toad", "trout", "wasp",
		"whale", "wolf", "worm", "wren", "yak", "zebra"}
)

func pick(words []string) string {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(len(words))))
	if err != nil {
		return words[0]
	}
	return words[n.Int64()]
}

// GenerateRunName returns a random "<adjective>-<noun>-<3 digits>" name.
func GenerateRunName() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(1000))
	return fmt.Sprintf("%s-%s-%03d", pick(adjectives), pick(nouns), n.Int64())
}
