package console

import (
	"context"

	"github.com/carebridge/carebridge/care"
)

// makeAvailable switches a routed agent available as they sign in (SPEC
// §16): an agent who signs in is at work and takes cases until they switch
// off in the header; the store keeps the switch. A failure is logged, not
// the sign-in's: the agent can still switch by hand.
func (c *Console) makeAvailable(ctx context.Context, u care.User) {
	rt := c.api.Router()
	if rt == nil || u.Role != care.RoleAgent {
		return
	}
	if st, err := rt.AgentState(ctx, u); err != nil || !st.Routed || st.Available {
		return
	}
	if _, err := rt.SetAvailable(ctx, u, true); err != nil {
		c.log.WarnContext(ctx, "console sign-in: could not switch the agent available", "user", u.ID, "err", err)
	}
}
