package store

// GetTargetGroup returns the target group called name.
func (tx *Tx) GetTargetGroup(name string) (TargetGroup, error) { return targetGroups().get(tx, name) }

// PutTargetGroup stores tg under its name.
func (tx *Tx) PutTargetGroup(tg *TargetGroup) error { return targetGroups().put(tx, *tg) }

// DeleteTargetGroup removes the target group called name.
func (tx *Tx) DeleteTargetGroup(name string) error { return targetGroups().del(tx, name) }

// ListTargetGroups returns every target group, sorted by name.
func (tx *Tx) ListTargetGroups() ([]TargetGroup, error) { return targetGroups().list(tx) }

// GetLoadBalancer returns the load balancer called name.
func (tx *Tx) GetLoadBalancer(name string) (LoadBalancer, error) {
	return loadBalancers().get(tx, name)
}

// PutLoadBalancer stores lb under its name.
func (tx *Tx) PutLoadBalancer(lb *LoadBalancer) error { return loadBalancers().put(tx, *lb) }

// DeleteLoadBalancer removes the load balancer called name.
func (tx *Tx) DeleteLoadBalancer(name string) error { return loadBalancers().del(tx, name) }

// ListLoadBalancers returns every load balancer, sorted by name.
func (tx *Tx) ListLoadBalancers() ([]LoadBalancer, error) { return loadBalancers().list(tx) }
