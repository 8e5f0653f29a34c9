package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"pingdeck/internal/auth"
	"pingdeck/internal/groups"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// deviceCookie marks a browser that has signed in to an account before (see
// auth.SignedIn.Device). It is sent only to the login endpoint.
const (
	deviceCookie     = "pingdeck_device"
	deviceCookiePath = "/api/v1/auth/login"
)

// handleLogin checks credentials and sets a fresh session cookie and device cookie; a
// session the browser already had is ended, so a login always rotates the session.
func handleLogin(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		var req loginRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		if req.Username == "" {
			return groups.Invalid("username", "is required")
		}
		if req.Password == "" {
			return groups.Invalid("password", "is required")
		}
		ctx := c.Request.Context()
		device, _ := c.Cookie(deviceCookie)
		in, err := s.Accounts.SignIn(ctx, auth.LoginAttempt{
			Username: req.Username, Password: req.Password, ClientIP: c.ClientIP(), Device: device})
		if err != nil {
			return err
		}
		if old, err := c.Cookie(sessionCookie); err == nil && old != "" {
			if err := s.Accounts.Logout(ctx, old); err != nil {
				return err
			}
		}
		s.setSessionCookie(c, in.Session, s.SessionTTL)
		http.SetCookie(c.Writer, &http.Cookie{
			Name: deviceCookie, Value: in.Device, Path: deviceCookiePath, MaxAge: int(in.DeviceTTL.Seconds()),
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secureRequest(c.Request, s.trusted),
		})
		c.JSON(http.StatusOK, gin.H{"user": meOut(in.User)})
		return nil
	})
}

func (s *server) setSessionCookie(c *gin.Context, value string, maxAge time.Duration) {
	http.SetCookie(c.Writer, &http.Cookie{
		Name: sessionCookie, Value: value, Path: "/", MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: secureRequest(c.Request, s.trusted),
	})
}

// handleUserUnlock lets an administrator lift the lockout strangers' failed sign-ins put
// on an account, so its owner can sign in from a new device at once.
func handleUserUnlock(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		u, err := s.userNamed(c.Request.Context(), "username", c.Param("username"))
		if err != nil {
			return err
		}
		s.Accounts.UnlockAccount(u.Username)
		c.Status(http.StatusNoContent)
		return nil
	})
}

// handleLogout ends the cookie's session and clears the cookie.
func handleLogout(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		if token, err := c.Cookie(sessionCookie); err == nil && token != "" {
			if err := s.Accounts.Logout(c.Request.Context(), token); err != nil {
				return err
			}
		}
		s.setSessionCookie(c, "", -time.Second)
		c.Status(http.StatusNoContent)
		return nil
	})
}

func handleMe(s *server) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.JSON(http.StatusOK, meOut(currentUser(c)))
	}
}

type userCreateRequest struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	DisplayName string `json:"display_name"`
	IsAdmin     bool   `json:"is_admin"`
}

// handleUserCreate lets an administrator create an account.
func handleUserCreate(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		var req userCreateRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		u, err := s.Accounts.CreateUser(c.Request.Context(), auth.NewUser{
			Username: req.Username, Password: req.Password, DisplayName: req.DisplayName, IsAdmin: req.IsAdmin,
		})
		if err != nil {
			return err
		}
		c.JSON(http.StatusCreated, userOut(u))
		return nil
	})
}

type tokenCreateRequest struct {
	Name      string        `json:"name"`
	ExpiresIn *durationJSON `json:"expires_in"`
}

// handleTokenCreate makes an API token and shows it once.
func handleTokenCreate(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		var req tokenCreateRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		var ttl time.Duration
		if req.ExpiresIn != nil {
			if ttl = time.Duration(*req.ExpiresIn); ttl <= 0 {
				return groups.Invalid("expires_in", "must be positive; leave it out for a token that does not expire")
			}
		}
		secret, t, err := s.Accounts.CreateToken(c.Request.Context(), currentUser(c).ID, req.Name, ttl)
		if err != nil {
			return err
		}
		out := tokenOut(t)
		out.Token = secret
		c.JSON(http.StatusCreated, out)
		return nil
	})
}

func handleTokenList(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		tokens, err := s.Accounts.ListTokens(c.Request.Context(), currentUser(c).ID)
		if err != nil {
			return err
		}
		out := make([]tokenJSON, len(tokens))
		for i := range tokens {
			out[i] = tokenOut(&tokens[i])
		}
		c.JSON(http.StatusOK, gin.H{"tokens": out})
		return nil
	})
}

func handleTokenDelete(s *server) gin.HandlerFunc {
	return s.wrap(func(c *gin.Context) error {
		id, err := pathUUID(c, "token_id")
		if err != nil {
			return err
		}
		if err := s.Accounts.RevokeToken(c.Request.Context(), currentUser(c).ID, id); err != nil {
			return err
		}
		c.Status(http.StatusNoContent)
		return nil
	})
}
