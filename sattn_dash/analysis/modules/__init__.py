"""Which branch matters? What the combiner gives each branch, what ablation and permutation say the model needs, and whether the two agree."""
