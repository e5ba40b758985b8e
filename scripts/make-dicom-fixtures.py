#!/usr/bin/python3
"""Writes the small DICOM test fixtures in src/test/resources/dicom/ with pydicom.

Run from the project root: /usr/bin/python3 scripts/make-dicom-fixtures.py
(Debian: apt-get install -y python3-pydicom python3-numpy). The tests do not need Python: the
files are committed. Raw pixel values follow simple formulas that DicomReaderTest recomputes.
"""
import os
import numpy as np
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import (ImplicitVRLittleEndian, ExplicitVRLittleEndian, ExplicitVRBigEndian,
                         DeflatedExplicitVRLittleEndian, JPEG2000Lossless, generate_uid)

OUT = os.path.join(os.path.dirname(__file__), "..", "src", "test", "resources", "dicom")
ROWS, COLS = 12, 16


def base(ts, pixels, photometric="MONOCHROME2", bits_stored=None, signed=False, patient="P001"):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # digital X-ray
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[str(ts), photometric, str(bits_stored)])
    meta.TransferSyntaxUID = ts
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian = ts != ExplicitVRBigEndian
    ds.is_implicit_VR = ts == ImplicitVRLittleEndian
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientID = patient
    ds.Modality = "DX"
    # a sequence before the pixels, so that the reader must skip one
    item = Dataset()
    item.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.1"
    item.ReferencedSOPInstanceUID = "1.2.3.4"
    ds.ReferencedImageSequence = Sequence([item])
    if pixels is not None:
        frames = pixels.shape[0] if pixels.ndim == 4 or (pixels.ndim == 3 and photometric in ("MONOCHROME1", "MONOCHROME2")) else 1
        ds.Rows, ds.Columns = pixels.shape[-2], pixels.shape[-1] if photometric.startswith("MONO") else pixels.shape[-2]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = photometric
        alloc = pixels.dtype.itemsize * 8
        ds.BitsAllocated = alloc
        ds.BitsStored = bits_stored or alloc
        ds.HighBit = ds.BitsStored - 1
        ds.PixelRepresentation = 1 if signed else 0
        if pixels.ndim == 3:
            ds.NumberOfFrames = pixels.shape[0]
        ds.PixelData = pixels.astype(pixels.dtype.newbyteorder(">" if ts == ExplicitVRBigEndian else "<")).tobytes()
    return ds


def save(ds, name):
    ds.save_as(os.path.join(OUT, name), write_like_original=False)


def ramp(maxv, dtype):
    r = np.arange(ROWS * COLS, dtype=np.int64).reshape(ROWS, COLS)
    return (r * maxv // (ROWS * COLS - 1)).astype(dtype)


os.makedirs(OUT, exist_ok=True)
# 8-bit MONOCHROME2, explicit VR little endian: raw = i*255//191 for pixel i
save(base(ExplicitVRLittleEndian, ramp(255, np.uint8)), "mono2_8bit_explicit_le.dcm")
# 12-bit stored in 16, MONOCHROME1, implicit VR little endian; high nibble garbage must be masked off
p = ramp(4095, np.uint16) | np.uint16(0xF000)
save(base(ImplicitVRLittleEndian, p, photometric="MONOCHROME1", bits_stored=12), "mono1_12bit_implicit_le.dcm")
# 16-bit MONOCHROME2, explicit VR big endian
save(base(ExplicitVRBigEndian, ramp(65535, np.uint16)), "mono2_16bit_explicit_be.dcm")
# signed 16-bit CT-like: raw -1024..3071, rescale slope 2 intercept -10, window 40/400 in the file
ds = base(ExplicitVRLittleEndian, (ramp(4095, np.int64) - 1024).astype(np.int16), signed=True)
ds.RescaleSlope = "2"
ds.RescaleIntercept = "-10"
ds.WindowCenter = ["40", "300"]
ds.WindowWidth = ["400", "1500"]
save(ds, "signed_rescale_window.dcm")
# multi-frame: 3 frames, frame k has value 10*(k+1) everywhere
save(base(ExplicitVRLittleEndian, np.stack([np.full((ROWS, COLS), 10 * (k + 1), np.uint8) for k in range(3)])),
     "multiframe_3.dcm")
# deflated explicit VR little endian, same pixels as the 8-bit file
save(base(DeflatedExplicitVRLittleEndian, ramp(255, np.uint8)), "mono2_8bit_deflated.dcm")
# 8-bit RGB, interleaved: R = 200, G = column*10, B = row*20
rgb = np.zeros((ROWS, COLS, 3), np.uint8)
rgb[..., 0] = 200
rgb[..., 1] = (np.arange(COLS) * 10)[None, :]
rgb[..., 2] = (np.arange(ROWS) * 20)[:, None]
ds = base(ExplicitVRLittleEndian, None)
ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = ROWS, COLS, 3, "RGB"
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation, ds.PlanarConfiguration = 8, 8, 7, 0, 0
ds.PixelData = rgb.tobytes()
save(ds, "rgb_8bit.dcm")
# compressed: JPEG 2000 transfer syntax with (fake) encapsulated pixel data
ds = base(JPEG2000Lossless, None)
ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = ROWS, COLS, 1, "MONOCHROME2"
ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
from pydicom.encaps import encapsulate
ds.PixelData = encapsulate([b"\xff\x4f\xff\x51" + b"\0" * 60])
ds["PixelData"].is_undefined_length = True
ds["PixelData"].VR = "OB"
save(ds, "jpeg2000.dcm")
# no pixel data (like a structured report)
save(base(ExplicitVRLittleEndian, None), "no_pixel_data.dcm")
print("wrote", sorted(os.listdir(OUT)))
