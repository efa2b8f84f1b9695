package fetch

// Waiters reports how many callers have joined the fetch of url now in progress (0 when none),
// so the single-flight test can release the server only once every caller is waiting.
func (c *Client) Waiters(url string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f := c.flights[url]; f != nil {
		return f.waiters
	}
	return 0
}
