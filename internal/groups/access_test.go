package groups

import (
	"errors"
	"testing"
)

// TestPermissionMatrix is the one statement of who may do what: every role against every
// action, on a private and a public group.
func TestPermissionMatrix(t *testing.T) {
	owner := Actor{UserID: "owner"}
	admin := Actor{UserID: "root", IsAdmin: true}
	other := Actor{UserID: "other"}
	tests := []struct {
		name   string
		actor  Actor
		vis    Visibility
		shared Role
		role   Role
		can    [3]bool // view, edit, manage
	}{
		{"owner of a private group", owner, Private, RoleNone, RoleOwner, [3]bool{true, true, true}},
		{"owner who is also admin", Actor{UserID: "owner", IsAdmin: true}, Private, RoleNone, RoleOwner, [3]bool{true, true, true}},
		{"admin", admin, Private, RoleNone, RoleAdmin, [3]bool{true, true, true}},
		{"admin with a viewer share", admin, Private, RoleViewer, RoleAdmin, [3]bool{true, true, true}},
		{"editor", other, Private, RoleEditor, RoleEditor, [3]bool{true, true, false}},
		{"viewer", other, Private, RoleViewer, RoleViewer, [3]bool{true, false, false}},
		{"editor of a public group", other, Public, RoleEditor, RoleEditor, [3]bool{true, true, false}},
		{"anyone on a public group", other, Public, RoleNone, RoleViewer, [3]bool{true, false, false}},
		{"stranger to a private group", other, Private, RoleNone, RoleNone, [3]bool{false, false, false}},
		{"a bogus share role grants nothing", other, Private, Role("owner"), RoleNone, [3]bool{false, false, false}},
		{"signed-out actor", Actor{}, Private, RoleNone, RoleNone, [3]bool{false, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &Group{ID: "g", OwnerID: "owner", Visibility: tt.vis}
			role := RoleFor(tt.actor, g, tt.shared)
			if role != tt.role {
				t.Fatalf("RoleFor = %q, want %q", role, tt.role)
			}
			for i, a := range []Action{ActionView, ActionEdit, ActionManage} {
				if got := role.Can(a); got != tt.can[i] {
					t.Errorf("%q.Can(%d) = %v, want %v", role, a, got, tt.can[i])
				}
				err := Authorize(role, a)
				switch {
				case tt.can[i] && err != nil:
					t.Errorf("Authorize(%q, %d) = %v, want nil", role, a, err)
				case !tt.can[i] && role == RoleNone && !errors.Is(err, ErrNotFound):
					t.Errorf("Authorize(%q, %d) = %v, want not found (an invisible group must not be revealed)", role, a, err)
				case !tt.can[i] && role != RoleNone && !errors.Is(err, ErrForbidden):
					t.Errorf("Authorize(%q, %d) = %v, want forbidden", role, a, err)
				}
			}
		})
	}
}

func TestValidateShareAndMessage(t *testing.T) {
	g := &Group{OwnerID: "owner"}
	if err := ValidateShare(g, "bob", RoleViewer); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		grantee string
		role    Role
		field   string
	}{{"bob", RoleOwner, "role"}, {"bob", "", "role"}, {"owner", RoleEditor, "username"}} {
		var e *Error
		if err := ValidateShare(g, tc.grantee, tc.role); !errors.As(err, &e) || e.Field != tc.field || !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateShare(%s, %q) = %v, want invalid %s", tc.grantee, tc.role, err, tc.field)
		}
	}
	if msg, err := CleanMessage("  look at\n\tthis  "); err != nil || msg != "look at\n\tthis" {
		t.Errorf("CleanMessage = %q, %v", msg, err)
	}
	long := make([]rune, MaxMessageLength)
	for i := range long {
		long[i] = 'é'
	}
	if _, err := CleanMessage(string(long)); err != nil {
		t.Errorf("%d characters (more bytes) must be allowed: %v", MaxMessageLength, err)
	}
	for _, bad := range []string{string(long) + "x", "bell\a", "\xff"} {
		if _, err := CleanMessage(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("CleanMessage(%.20q) = %v, want invalid", bad, err)
		}
	}
}
