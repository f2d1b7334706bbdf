"""The choices the layers accept, importable without Keras (specs and pages validate
against them before any model is built)."""

NORMALIZERS = ("softmax", "sparsemax")
PENALTIES = ("entropy", "l1")
SELECTIONS = ("per_head", "shared")
ADAPTER_INITS = ("random_signs", "input_signs", "ones")
