"""`undo-tui export-model`: a run's trained student as a standalone model.

`source.py` finds the weights (an UNDO iteration's LoRA adapter or full checkpoint, a distilled
student, an asker); `merge.py` writes a Hugging Face directory; `card.py` its README;
`converter.py` runs llama.cpp's own HF-to-GGUF converter; `gguf_check.py` compares greedy outputs
of the GGUF (loaded by llama.cpp in a child process, `llama_greedy.py`) with the HF model;
`modelfile.py` writes an Ollama Modelfile; `run.py` puts them together.
"""
