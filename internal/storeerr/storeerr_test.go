package storeerr

import (
	"errors"
	"fmt"
	"testing"
)

func TestIsMatchesByCode(t *testing.T) {
	sentinel := &Error{Code: ResourceDoesNotExist}
	err := fmt.Errorf("wrapped: %w", NotFoundf("Run '%s' not found", "r1"))
	if !errors.Is(err, sentinel) {
		t.Fatal("a not-found error does not match the not-found sentinel")
	}
	if errors.Is(Invalidf("bad"), sentinel) {
		t.Fatal("an invalid-parameter error matches the not-found sentinel")
	}
	var e *Error
	if !errors.As(err, &e) || e.ErrorCode() != ResourceDoesNotExist || e.Error() != "Run 'r1' not found" {
		t.Fatalf("got %#v", e)
	}
	var got *Error
	if !errors.As(Existsf("x %d", 1), &got) || got.Code != ResourceAlreadyExists || got.Message != "x 1" {
		t.Fatalf("got %#v", got)
	}
}
