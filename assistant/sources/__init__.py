"""The linked sources themselves: fetch their texts (opt-in, needs the network), store them with
provenance under the cache folder, and hand them to the index build as a second tier."""
