package dev.resnext.data.dicom;

/**
 * The attributes of a DICOM file that are needed to render its first frame, and its raw pixel
 * bytes (still in the file's byte order).
 *
 * @param transferSyntax     transfer syntax UID
 * @param rows               image height
 * @param columns            image width
 * @param samplesPerPixel    1 (grayscale) or 3 (colour)
 * @param photometric        Photometric Interpretation, e.g. MONOCHROME1, MONOCHROME2, RGB
 * @param bitsAllocated      8, 16 or 32
 * @param bitsStored         significant bits per sample
 * @param signed             Pixel Representation 1 (two's complement samples)
 * @param planar             Planar Configuration 1 (colour planes one after the other)
 * @param frames             Number of Frames (1 when absent)
 * @param slope              Rescale Slope (1 when absent)
 * @param intercept          Rescale Intercept (0 when absent)
 * @param windowCenter       first Window Center, NaN when absent
 * @param windowWidth        first Window Width, NaN when absent
 * @param patientId          Patient ID, or null
 * @param bigEndian          whether the pixel data is big endian
 * @param pixelData          the pixel data element's bytes
 * @param pixelOffset        where the pixel data starts in {@code pixelData}
 * @param pixelLength        length of the pixel data
 */
public record DicomFile(String transferSyntax, int rows, int columns, int samplesPerPixel, String photometric,
                        int bitsAllocated, int bitsStored, boolean signed, boolean planar, int frames,
                        double slope, double intercept, double windowCenter, double windowWidth, String patientId,
                        boolean bigEndian, byte[] pixelData, int pixelOffset, int pixelLength) {
}
