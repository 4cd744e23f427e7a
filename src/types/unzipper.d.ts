/** The part of unzipper (0.10) this app uses: a zip's parts through its central directory. */
declare module 'unzipper' {
  export interface CentralDirectoryFile {
    path: string;
    type: 'File' | 'Directory';
    uncompressedSize: number;
    stream(password?: string): NodeJS.ReadableStream;
  }
  export interface CentralDirectory {
    files: CentralDirectoryFile[];
  }
  const unzipper: {
    Open: {
      /** Reads the central directory of a zip file; `tailSize`: how far from the end to look for its end record. */
      file(path: string, options?: { tailSize?: number }): Promise<CentralDirectory>;
    };
  };
  export default unzipper;
}
