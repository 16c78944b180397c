"""For tests: MockServer (a real socket), MockClient, and the pytest plugin."""
