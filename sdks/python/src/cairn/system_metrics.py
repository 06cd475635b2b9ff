"""Optional system metrics (CPU, memory, disk, network, GPU) sampled in a background thread.

Needs ``psutil`` (``pip install 'cairn-ml[system-metrics]'``); GPUs are read through NVIDIA's
``pynvml`` (package ``nvidia-ml-py``) when it is installed and a GPU is present. Keys use
MLflow's names (``system/cpu_utilization_percentage``, ...); the step is the sample number.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Dict, List, Optional

_log = logging.getLogger("cairn")


class SystemMetricsMonitor:
    def __init__(
        self,
        log: Callable[[Dict[str, float], int], None],
        interval: float = 10.0,
    ) -> None:
        try:
            import psutil
        except ImportError:
            raise ImportError(
                "System metrics need psutil: pip install psutil (or 'cairn-ml[system-metrics]')"
            ) from None
        self._psutil = psutil
        self._log_metrics = log
        self._interval = interval
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._step = 0
        self._gpus: List[Any] = []
        self._nvml: Any = None
        self._net0: Any = None
        try:
            import pynvml

            pynvml.nvmlInit()
            self._nvml = pynvml
            self._gpus = [
                pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())
            ]
        except Exception:
            self._nvml = None
            self._gpus = []

    def sample(self) -> Dict[str, float]:
        ps = self._psutil
        vm = ps.virtual_memory()
        out: Dict[str, float] = {
            "system/cpu_utilization_percentage": float(ps.cpu_percent(interval=None)),
            "system/system_memory_usage_megabytes": (vm.total - vm.available) / 1e6,
            "system/system_memory_usage_percentage": float(vm.percent),
        }
        try:
            disk = ps.disk_usage("/")
            out["system/disk_usage_percentage"] = float(disk.percent)
            out["system/disk_usage_megabytes"] = disk.used / 1e6
            out["system/disk_available_megabytes"] = disk.free / 1e6
        except OSError:
            pass
        try:
            net = ps.net_io_counters()
            if self._net0 is None:
                self._net0 = net
            out["system/network_receive_megabytes"] = (net.bytes_recv - self._net0.bytes_recv) / 1e6
            out["system/network_transmit_megabytes"] = (
                net.bytes_sent - self._net0.bytes_sent
            ) / 1e6
        except Exception:
            pass
        for i, handle in enumerate(self._gpus):
            try:
                util = self._nvml.nvmlDeviceGetUtilizationRates(handle)
                mem = self._nvml.nvmlDeviceGetMemoryInfo(handle)
                out[f"system/gpu_{i}_utilization_percentage"] = float(util.gpu)
                out[f"system/gpu_{i}_memory_usage_megabytes"] = mem.used / 1e6
                out[f"system/gpu_{i}_memory_usage_percentage"] = 100.0 * mem.used / mem.total
            except Exception:
                pass
        return out

    def start(self) -> None:
        self._psutil.cpu_percent(interval=None)  # prime the CPU counter
        self._thread = threading.Thread(target=self._loop, name="cairn-system-metrics", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._log_metrics(self.sample(), self._step)
                self._step += 1
            except Exception as exc:  # a failed sample must never hurt the run
                _log.debug("cairn: system metrics sample failed: %s", exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except Exception:
                pass
