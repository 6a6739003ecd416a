package tokens

// LinkedUser returns the Care user who connected a personal token as the
// Salesforce user sfUserID (15 or 18 characters), healthy or not: the
// console's Sign in with Salesforce signs that Salesforce user in as them.
func (p *Pool) LinkedUser(sfUserID string) (string, bool) {
	if len(sfUserID) < 15 {
		return "", false
	}
	for _, info := range p.Status().Users {
		if info.Kind == KindUser && len(info.SFUserID) >= 15 && info.SFUserID[:15] == sfUserID[:15] {
			return info.UserID, true
		}
	}
	return "", false
}
