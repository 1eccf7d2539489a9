"""The GAN course library."""
