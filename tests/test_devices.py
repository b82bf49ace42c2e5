"""Device choice: quietly the CPU without a GPU; LightGBM's GPU path only on a real GPU OpenCL driver."""

import pytest

from pipelines import devices


def test_auto_device_is_cpu_without_a_gpu():
    if devices.gpu_count():
        pytest.skip("this machine has a GPU")
    assert devices.resolve("auto") == "cpu"
    with pytest.warns(UserWarning, match="no CUDA GPU"):
        assert devices.resolve("cuda") == "cpu"
    assert devices.xgboost_params("cpu")["device"] == "cpu"
    assert devices.lightgbm_params("cuda") == {"device_type": "cpu"}


def test_cpu_only_opencl_platforms_do_not_count_as_a_gpu(tmp_path, monkeypatch):
    # pocl is what many images carry: LightGBM would accept it and run slower than on its CPU learner.
    (tmp_path / "pocl.icd").write_text("libpocl.so.2.12.0\n")
    (tmp_path / "intel-cpu.icd").write_text("/opt/intel/oclcpuexp/x64/libintelocl.so\n")
    monkeypatch.setenv("OCL_ICD_VENDORS", str(tmp_path))
    assert devices.opencl_gpu_drivers() == []
    (tmp_path / "nvidia.icd").write_text("libnvidia-opencl.so.1\n")
    assert devices.opencl_gpu_drivers() == ["nvidia.icd"]
    monkeypatch.setenv("OCL_ICD_VENDORS", str(tmp_path / "pocl.icd"))  # a single file is allowed too
    assert devices.opencl_gpu_drivers() == []
