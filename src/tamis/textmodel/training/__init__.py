"""Training and evaluation of the text model (not needed to serve it): data loading, the row sample,
the embedding cache, training, leave-source-out cross-validation, evaluation, the model card, a bench.

    python -m tamis.textmodel.training.train      fit and write weights
    python -m tamis.textmodel.training.crossval   leave-source-out figures (choose models by these)
    python -m tamis.textmodel.training.evaluate   in-source split metrics
    python -m tamis.textmodel.training.card       fill the model card from the metrics
"""
