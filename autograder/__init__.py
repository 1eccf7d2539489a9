"""Grading for the GAN course: nbgrader configuration, hidden-test checks and the grading command."""
