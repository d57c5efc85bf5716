package app

import "testing"

func TestMovingURI(t *testing.T) {
	for uri, want := range map[string]bool{
		"models:/m@champion": true, "models:/m/Production": true, "models:/m/latest": true,
		"models:/m/3": false, "runs:/abc/model": false, "/tmp/model": false, "models:/": false,
	} {
		if got := MovingURI(uri); got != want {
			t.Errorf("MovingURI(%q) = %v, want %v", uri, got, want)
		}
	}
}
