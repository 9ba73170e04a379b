"""One module per provider type, each exporting its ``PLUGIN`` (see ``providers.plugin``);
``mailpass_common.providers.registry`` lists them."""
