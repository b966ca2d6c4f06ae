# Astro Runtime for Airflow 3.3, Python 3.11 (the version acdflow is locked and tested on).
# Astro's ONBUILD steps install packages.txt and requirements.txt and copy this project to
# /usr/local/airflow; the RUN below then installs acdflow itself, so the `acdflow` console script
# and the 8x8 connection type (provider entry point) exist in the image.
FROM astrocrpublic.azurecr.io/runtime:3.3-2-python-3.11

RUN pip install --no-cache-dir --no-deps /usr/local/airflow
