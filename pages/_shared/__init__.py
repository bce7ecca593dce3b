"""What several pages share: session state and the address, the password gate, the frame and menu, the
encode job, cached getters, pictures, chart basics and captions."""
