"""``make upgrade``: a rolling upgrade from the previous release under load (:mod:`.runner`)."""
