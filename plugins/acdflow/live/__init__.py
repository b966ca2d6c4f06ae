"""The live poll in Airflow's triggerer: the trigger (:mod:`acdflow.live.trigger`) and the
warehouse statements it runs on an asynchronous connection (:mod:`acdflow.live.aio_store`).

The polling protocol itself, shared with the synchronous tools, is in
:mod:`acdflow.pipeline.live_status`.
"""
