"""Which features does each row attend to? Every attention weight of a row, folded to source columns."""
