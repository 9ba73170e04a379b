"""Stored templates: Liquid rendering within bounds (:mod:`.rendering`) and the
``templates`` collection with its versions (:mod:`.store`)."""
